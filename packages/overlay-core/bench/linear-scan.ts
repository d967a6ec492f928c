// The anchor: the obvious allocator. Each allocation scans a free list from its start for the
// first free block (and the same for VTEP addresses), which makes n registrations O(n^2).

export class LinearScanAllocator {
  private readonly blockUsed: Uint8Array;
  private readonly vtepUsed: Uint8Array;
  private readonly nodes = new Map<string, { block: number; vtep: number }>();

  constructor(
    private readonly overlayBase: number,
    private readonly blockSize: number,
    blocks: number,
    private readonly vtepBase: number,
    vtepHosts: number,
  ) {
    this.blockUsed = new Uint8Array(blocks);
    this.vtepUsed = new Uint8Array(vtepHosts);
  }

  register(ip: string): { block: number; vtep: number } {
    const known = this.nodes.get(ip);
    if (known) return known;
    const b = firstFree(this.blockUsed);
    const v = firstFree(this.vtepUsed);
    if (b < 0 || v < 0) throw new Error('exhausted');
    this.blockUsed[b] = 1;
    this.vtepUsed[v] = 1;
    const record = { block: this.overlayBase + b * this.blockSize, vtep: this.vtepBase + 1 + v };
    this.nodes.set(ip, record);
    return record;
  }
}

function firstFree(used: Uint8Array): number {
  for (let i = 0; i < used.length; i++) if (used[i] === 0) return i;
  return -1;
}
