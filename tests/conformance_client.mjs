// The TypeScript SDK's client for the conformance suite's client scenarios: the same steps and
// arguments as tests/conformance_client.py (see there), with the SDK the installed suite itself
// depends on (.tools/conformance/v0.1.16/node_modules/@modelcontextprotocol/sdk). Its
// elicitation handler accepts with empty content and lets the SDK apply the schema's defaults
// (capability elicitation.form.applyDefaults), as the suite's own example client does.

import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const CHECKOUT = dirname(dirname(fileURLToPath(import.meta.url)));
const SDK = join(CHECKOUT, '.tools/conformance/v0.1.16/node_modules/@modelcontextprotocol/sdk/dist/esm');
const load = (path) => import(pathToFileURL(join(SDK, path)).href);
const { Client } = await load('client/index.js');
const { StreamableHTTPClientTransport } = await load('client/streamableHttp.js');
const { ElicitRequestSchema } = await load('types.js');

const TIMEOUT_MS = 20000;

function option(args, name) {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

async function throughGateway(args, url) {
  const base = option(args, '--gateway');
  const project = option(args, '--project');
  const rest = { 'content-type': 'application/json', authorization: `Bearer ${option(args, '--token')}` };
  const name = `conformance-ts-${Math.random().toString(36).slice(2, 10)}`;
  const servers = `${base}/api/projects/${project}/servers`;
  const created = await fetch(servers, {
    method: 'POST',
    headers: rest,
    body: JSON.stringify({ name, transport: 'streamable_http', url, timeout_seconds: TIMEOUT_MS / 1000 }),
  });
  if (created.status !== 201) throw new Error(`registering ${url}: HTTP ${created.status} ${await created.text()}`);
  const { id } = await created.json();
  return {
    endpoint: `${base}/projects/${project}/servers/${name}/mcp`,
    headers: { authorization: `Bearer ${option(args, '--key')}` },
    remove: () => fetch(`${servers}/${id}`, { method: 'DELETE', headers: rest }),
  };
}

const SCENARIOS = {
  initialize: callFirstTool,
  tools_call: callFirstTool,
  'elicitation-sep1034-client-defaults': (client) => callNamedTool(client, 'test_client_elicitation_defaults'),
  'sse-retry': (client) => callNamedTool(client, 'test_reconnection'),
};

async function callFirstTool(client) {
  const { tools } = await client.listTools();
  if (tools.length) await client.callTool({ name: tools[0].name, arguments: { a: 2, b: 3 } });
}

async function callNamedTool(client, name) {
  const { tools } = await client.listTools();
  if (!tools.some((tool) => tool.name === name)) throw new Error(`the server offers no tool ${name}`);
  const result = await client.callTool({ name, arguments: {} }, undefined, { timeout: TIMEOUT_MS });
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(result.content)}`);
}

async function main() {
  const args = process.argv.slice(2);
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
  const steps = SCENARIOS[scenario];
  if (!steps) throw new Error(`no steps for scenario ${scenario}`);
  const url = args[args.length - 1];
  const gateway = option(args, '--gateway') ? await throughGateway(args, url) : null;
  try {
    const client = new Client(
      { name: 'mcp-orch-conformance-client', version: '1.0.0' },
      { capabilities: { elicitation: { form: { applyDefaults: true } } } },
    );
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
    const transport = new StreamableHTTPClientTransport(new URL(gateway?.endpoint ?? url), {
      requestInit: { headers: gateway?.headers ?? {} },
    });
    await client.connect(transport);
    await steps(client);
    await transport.close();
  } finally {
    await gateway?.remove();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(`${error?.name ?? 'Error'}: ${error?.message ?? error}`);
    process.exit(1);
  },
);
