// The free indices of a pool as disjoint, non-adjacent intervals in a B+ tree keyed by start.
// Taking the lowest free index, freeing and reserving any index are all O(log intervals), so
// allocating every block of a large network stays linear overall (a flat free list is quadratic).
import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS with its class on `exports.default`.
const BTree = sortedBtree.default;

export class FreeSet {
  /** start -> end (inclusive) of each free interval. */
  private readonly intervals = new BTree<number, number>();
  private freeCount: number;

  /** All of [first, last] starts free. */
  constructor(first: number, last: number) {
    if (last >= first) this.intervals.set(first, last);
    this.freeCount = Math.max(0, last - first + 1);
  }

  get free(): number {
    return this.freeCount;
  }

  isFree(index: number): boolean {
    const pair = this.intervals.getPairOrNextLower(index);
    return pair !== undefined && pair[1] >= index;
  }

  /** Takes the lowest free index, or undefined when none is left. */
  takeLowest(): number | undefined {
    const start = this.intervals.minKey();
    if (start === undefined) return undefined;
    const end = this.intervals.get(start)!;
    this.intervals.delete(start);
    if (end > start) this.intervals.set(start + 1, end);
    this.freeCount--;
    return start;
  }

  /** Marks a free index as used; false if it was not free. */
  reserve(index: number): boolean {
    const pair = this.intervals.getPairOrNextLower(index);
    if (pair === undefined || pair[1] < index) return false;
    const [start, end] = pair;
    if (start === index) this.intervals.delete(start);
    else this.intervals.set(start, index - 1);
    if (end > index) this.intervals.set(index + 1, end);
    this.freeCount--;
    return true;
  }

  /** Returns a used index to the set, merging with its neighbours; false if it was already free. */
  release(index: number): boolean {
    const below = this.intervals.getPairOrNextLower(index);
    if (below !== undefined && below[1] >= index) return false;
    let start = index;
    let end = index;
    if (below !== undefined && below[1] === index - 1) start = below[0];
    const above = this.intervals.get(index + 1);
    if (above !== undefined) {
      end = above;
      this.intervals.delete(index + 1);
    }
    this.intervals.set(start, end);
    this.freeCount++;
    return true;
  }
}
