import { fileURLToPath } from 'node:url';
import type { NetworkConfig } from '../../src/config/types.js';

/** DC/OS's default overlay: 9.0.0.0/8 with /24 node blocks, VTEPs in 44.128.0.0/20. */
export function dcosDefault(): NetworkConfig {
  return {
    vtep_subnet: '44.128.0.0/20',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlay_mtu: 1420,
    overlays: [{ name: 'dcos', subnet: '9.0.0.0/8', prefix: 24 }],
  };
}

/** The three overlays of seed 004's installer example. */
export function seedThreeOverlays(): NetworkConfig {
  return {
    vtep_subnet: '192.15.0.0/20',
    vtep_mac_oui: '70:B3:D5:00:00:00',
    overlay_mtu: 1420,
    overlays: [
      { name: 'dcos-1', subnet: '192.168.0.0/17', prefix: 24 },
      { name: 'dcos-2', subnet: '192.168.128.0/17', prefix: 24 },
      { name: 'dcos-3', subnet: '44.128.0.0/16', prefix: 24 },
    ],
  };
}

/** dcosDefault() as a config file's text, for the tests that start real masters. */
export const DCOS_CONFIG_YAML = `
vtep_subnet: 44.128.0.0/20
vtep_mac_oui: 70:B3:D5:00:00:00
overlays:
  - name: dcos
    subnet: 9.0.0.0/8
    prefix: 24
`;

/** The `vnet` launcher the process tests start (bin/vnet.js, which loads dist/src/cli). */
export const VNET = fileURLToPath(new URL('../../../bin/vnet.js', import.meta.url));
