// A pool of equally sized blocks (or single addresses) of one network, handed out lowest first.
import { type Cidr, type Family, familyBits } from '../net/cidr.js';
import { FreeSet } from './free-set.js';

/** Indices are JS numbers: a pool never numbers more than 2^53 blocks (IPv6 spaces are capped). */
const MAX_INDEX = Number.MAX_SAFE_INTEGER - 1;

export class BlockPool {
  readonly family: Family;
  /** Blocks in the network (uncapped), for messages. */
  readonly blocks: bigint;
  private readonly base: bigint;
  private readonly shift: bigint;
  private readonly first: number;
  private readonly last: number;
  private readonly freeSet: FreeSet;

  /**
   * Blocks of length `blockPrefix` in `network`. With `hostsOnly`, single addresses without the
   * network's first and last address (as VTEP IPs are numbered).
   */
  constructor(network: Cidr, blockPrefix: number, hostsOnly = false) {
    this.family = network.family;
    this.base = network.network;
    this.shift = BigInt(familyBits(network.family) - blockPrefix);
    this.blocks = 1n << BigInt(blockPrefix - network.prefix);
    const lastBlock = this.blocks - 1n;
    this.first = hostsOnly ? 1 : 0;
    const last = hostsOnly ? lastBlock - 1n : lastBlock;
    this.last = last > BigInt(MAX_INDEX) ? MAX_INDEX : Number(last);
    this.freeSet = new FreeSet(this.first, this.last);
  }

  get free(): number {
    return this.freeSet.free;
  }

  /** Number of blocks this pool hands out. */
  get capacity(): number {
    return Math.max(0, this.last - this.first + 1);
  }

  /** The address of the lowest free block, now taken; undefined when none is left. */
  allocate(): bigint | undefined {
    const index = this.freeSet.takeLowest();
    return index === undefined ? undefined : this.address(index);
  }

  /** Takes a given block (recovery). 'taken' if already used, 'outside' if not one of ours. */
  reserve(address: bigint): 'ok' | 'taken' | 'outside' {
    const index = this.indexOf(address);
    if (index === undefined) return 'outside';
    return this.freeSet.reserve(index) ? 'ok' : 'taken';
  }

  /** Returns a block to the pool; false if it is not one of ours or was free. */
  release(address: bigint): boolean {
    const index = this.indexOf(address);
    return index !== undefined && this.freeSet.release(index);
  }

  private address(index: number): bigint {
    return this.base + (BigInt(index) << this.shift);
  }

  private indexOf(address: bigint): number | undefined {
    const offset = address - this.base;
    if (offset < 0n || offset & ((1n << this.shift) - 1n)) return undefined;
    const index = offset >> this.shift;
    if (index < BigInt(this.first) || index > BigInt(this.last)) return undefined;
    return Number(index);
  }
}
