import { describe, expect, it } from 'vitest';
import { faults, faultTable, runFaults } from '../../bench/faults/index.ts';
import { scales } from '../../bench/faults/types.ts';
import { loadConfig } from '../../pipeline/config/index.ts';

/**
 * The fault suite in its bounded form (`npm run faults` runs the full one): every fault, msgxc as real
 * processes on the real servers, and not one message lost. The Kafka broker restart runs last in the suite
 * and only here, where the test files run one at a time and nothing else uses the broker meanwhile.
 */
describe('fault suite (bounded)', () => {
  for (const fault of faults) {
    it(`${fault.name}: loses nothing`, async () => {
      const [result] = await runFaults(loadConfig(), {
        scale: scales.bounded,
        only: [fault.name],
        disruptStack: true,
        log: () => undefined,
      });
      console.log(faultTable([result!]));
      expect(result!.sent).toBeGreaterThan(0);
      expect(result!.lost).toBe(0);
      expect(result!.duplicatesAfter).toBe(0);
    }, 900_000);
  }
});
