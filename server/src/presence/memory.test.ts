import { MemoryBroker } from '../broker/memory.js';
import { MemoryPresence } from './memory.js';
import { presenceContract } from './presence.contract.js';

presenceContract('MemoryPresence', async () => {
  const broker = new MemoryBroker({ historyMaxLen: 1000 });
  const presence = new MemoryPresence(broker);
  return {
    presence,
    broker,
    async close() {
      await presence.close();
      await broker.close();
    },
  };
});
