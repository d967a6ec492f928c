// The overlay config every bench part runs: one overlay, `dcos`, 9.0.0.0/8 in /24 blocks.
export const BENCH_NETWORK = 'dcos';

export const BENCH_CONFIG = `
vtep_subnet: 44.128.0.0/20
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: ${BENCH_NETWORK}
    subnet: 9.0.0.0/8
    prefix: 24
`;
