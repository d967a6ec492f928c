// The vnet CNI plugin's process: the runtime's environment and stdin in, the result or a CNI
// error out (bin/vnet-cni.js loads this; `vnet cni install` puts a launcher on a CNI path).
import { runPlugin } from './plugin.js';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const out = await runPlugin({ env: process.env, stdin: Buffer.concat(chunks).toString('utf8') });
process.stdout.write(out.stdout);
process.exitCode = out.exitCode;
