import t from 'tap';
import { benchResultLine, median, percentile } from '../src/index.js';

t.test('percentiles by nearest rank: always one of the samples', async (t) => {
  const xs = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  t.equal(percentile(xs, 50), 5);
  t.equal(percentile(xs, 90), 9);
  t.equal(percentile(xs, 99), 10);
  t.equal(percentile(xs, 100), 10);
  t.equal(percentile(xs, 0), 1);
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2, 'an even count: the lower middle sample');
  t.ok(Number.isNaN(percentile([], 50)), 'no samples: NaN');
  t.same(xs, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'the samples are left in their order');
});

t.test('the bench result line', async (t) => {
  const line = benchResultLine({
    bench: 'b',
    unit: 'ops/s',
    ours: 200,
    anchor: 'peer 1.0',
    anchorValue: 300,
    higherIsBetter: true,
  });
  t.equal(
    line,
    '{"bench":"b","unit":"ops/s","ours":200,"anchor":"peer 1.0","anchor_value":300,"ratio":0.667,"higher_is_better":true}',
  );
  const bad = { bench: 'b', unit: 's', anchor: 'x', higherIsBetter: false };
  t.throws(
    () => benchResultLine({ ...bad, ours: 1, anchorValue: 0 }),
    /bench b: ratio is Infinity/,
  );
  t.throws(() => benchResultLine({ ...bad, ours: Number.NaN, anchorValue: 1 }), /ours is NaN/);
});
