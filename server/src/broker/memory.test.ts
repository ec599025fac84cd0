import { brokerContract } from './broker.contract.js';
import { MemoryBroker } from './memory.js';

brokerContract('MemoryBroker', async ({ historyMaxLen }) => new MemoryBroker({ historyMaxLen }));
