// The official TypeScript SDK (@openai/codex-sdk) drives our `codex` binary through a
// multi-turn thread against a scripted Responses server on 127.0.0.1, the way an application
// would. Checks what the SDK hands back (items, final responses, usage, errors) and what our
// binary sent to the model.
//
// Usage: node sdk-test.mjs /path/to/codex
import { Codex } from "@openai/codex-sdk";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";

const bin = process.argv[2];
if (!bin || !fs.existsSync(bin)) {
  console.error(`usage: node sdk-test.mjs /path/to/codex (got ${bin})`);
  process.exit(2);
}

// --- the scripted model ----------------------------------------------------------------------
const requests = [];
const replies = [];
const sse = (events) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("");
const completed = (id, input, output) => ({
  type: "response.completed",
  response: { id, usage: { input_tokens: input, output_tokens: output, total_tokens: input + output } },
});
const message = (text) => ({
  type: "response.output_item.done",
  item: { type: "message", role: "assistant", id: `msg_${requests.length}`, content: [{ type: "output_text", text }] },
});
const functionCall = (callId, name, args) => ({
  type: "response.output_item.done",
  item: { type: "function_call", id: `fc_${callId}`, call_id: callId, name, arguments: JSON.stringify(args) },
});
const customCall = (callId, name, input) => ({
  type: "response.output_item.done",
  item: { type: "custom_tool_call", id: `ctc_${callId}`, call_id: callId, name, input },
});

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    const parsed = JSON.parse(body || "null");
    requests.push({ url: req.url, headers: req.headers, body: parsed });
    const reply = replies.shift();
    if (!reply) {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "no reply scripted" } }));
      return;
    }
    if (reply.status) {
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: reply.message } }));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.end(sse(reply.events));
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `http://127.0.0.1:${server.address().port}/v1`;

// --- a workspace and a home of their own --------------------------------------------------------
const root = fs.mkdtempSync(path.join(os.tmpdir(), "codex-sdk-test-"));
const home = path.join(root, "home");
const workspace = path.join(root, "ws");
const extra = path.join(root, "extra");
for (const dir of [home, workspace, extra]) fs.mkdirSync(dir);
fs.mkdirSync(path.join(workspace, ".git"));
fs.writeFileSync(path.join(workspace, ".git", "HEAD"), "ref: refs/heads/main\n");

const codex = new Codex({
  codexPathOverride: bin,
  baseUrl,
  apiKey: "sk-sdk-test",
  env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, SHELL: "/bin/sh" },
});
const thread = codex.startThread({
  model: "gpt-sdk-test",
  threadSource: "sdk-test",
  workingDirectory: workspace,
  sandboxMode: "workspace-write",
  approvalPolicy: "never",
  modelReasoningEffort: "low",
  networkAccessEnabled: false,
  webSearchMode: "disabled",
  additionalDirectories: [extra],
});

let failures = 0;
async function step(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}\n${error.stack ?? error}`);
  }
}

await step("turn 1: a command, a patch, an answer", async () => {
  replies.push(
    { events: [functionCall("call_1", "exec_command", { cmd: "echo sdk-hello > hello.txt && cat hello.txt" }), completed("r1", 100, 10)] },
    { events: [customCall("call_2", "apply_patch", "*** Begin Patch\n*** Add File: notes.md\n+written through the SDK\n*** End Patch\n"), completed("r2", 150, 20)] },
    { events: [message("Turn one done."), completed("r3", 200, 5)] },
  );
  const result = await thread.run("create hello.txt, then notes.md");
  assert.equal(result.finalResponse, "Turn one done.");
  assert.match(thread.id, /^[0-9a-f-]{36}$/);
  const kinds = result.items.map((i) => i.type);
  assert.deepEqual(kinds, ["command_execution", "file_change", "agent_message"]);
  const [command, change] = result.items;
  assert.equal(command.exit_code, 0);
  assert.equal(command.status, "completed");
  assert.match(command.aggregated_output, /sdk-hello/);
  assert.equal(change.status, "completed");
  assert.deepEqual(change.changes.map((c) => [path.basename(c.path), c.kind]), [["notes.md", "add"]]);
  assert.equal(result.usage.input_tokens, 450);
  assert.equal(result.usage.output_tokens, 35);
  assert.equal(fs.readFileSync(path.join(workspace, "hello.txt"), "utf8"), "sdk-hello\n");
  assert.equal(fs.readFileSync(path.join(workspace, "notes.md"), "utf8"), "written through the SDK\n");

  // The session file, named for the thread, starts with its meta (the thread source too).
  const sessions = fs.readdirSync(path.join(home, "sessions"), { recursive: true })
    .filter((f) => f.endsWith(`${thread.id}.jsonl`));
  assert.equal(sessions.length, 1, `one session file for ${thread.id}`);
  const meta = JSON.parse(fs.readFileSync(path.join(home, "sessions", sessions[0]), "utf8").split("\n")[0]);
  assert.equal(meta.type, "session_meta");
  assert.equal(meta.payload.id, thread.id);
  assert.equal(meta.payload.source, "sdk-test");

  const first = requests[0];
  assert.equal(first.url, "/v1/responses");
  assert.equal(first.headers.authorization, "Bearer sk-sdk-test");
  assert.equal(first.headers.originator, "codex_sdk_ts");
  assert.equal(first.body.model, "gpt-sdk-test");
  assert.equal(first.body.stream, true);
  assert.equal(first.body.reasoning?.effort, "low");
  const texts = first.body.input.flatMap((i) => (i.content ?? []).map((c) => c.text ?? ""));
  assert.ok(texts.includes("create hello.txt, then notes.md"), "the prompt came over stdin");
  const outputs = requests[1].body.input.filter((i) => i.type === "function_call_output");
  assert.match(outputs.at(-1).output, /Process exited with code 0/);
  const patched = requests[2].body.input.filter((i) => i.type === "custom_tool_call_output");
  assert.match(patched.at(-1).output, /Success/);
});

await step("turn 2: the same thread resumes with its history", async () => {
  const id = thread.id;
  replies.push({ events: [message("Turn two."), completed("r4", 300, 3)] });
  // A 1x1 PNG, attached to the resumed turn (the SDK passes it as `resume ID --image PATH`).
  const png = path.join(root, "dot.png");
  fs.writeFileSync(png, Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64"));
  const result = await thread.run([
    { type: "text", text: "what did you do?" },
    { type: "local_image", path: png },
  ]);
  assert.equal(result.finalResponse, "Turn two.");
  const last = requests.at(-1).body.input.at(-1);
  assert.equal(last.content[1]?.type, "input_image", "the image goes with the prompt");
  assert.match(last.content[1].image_url, /^data:image\/png;base64,iVBORw0KGgo/);
  assert.equal(thread.id, id);
  const input = requests.at(-1).body.input;
  const texts = input.flatMap((i) => (i.content ?? []).map((c) => c.text ?? ""));
  assert.ok(texts.includes("create hello.txt, then notes.md"), "turn 1's prompt is in the history");
  assert.ok(texts.includes("Turn one done."), "turn 1's answer is in the history");
  assert.ok(texts.includes("what did you do?"));
});

await step("turn 3: streamed, with an output schema", async () => {
  const schema = {
    type: "object",
    properties: { ok: { type: "boolean" } },
    required: ["ok"],
    additionalProperties: false,
  };
  replies.push({ events: [message('{"ok":true}'), completed("r5", 10, 2)] });
  const { events } = await thread.runStreamed("answer as JSON", { outputSchema: schema });
  const seen = [];
  for await (const event of events) seen.push(event.type);
  assert.deepEqual(seen, ["thread.started", "turn.started", "item.completed", "turn.completed"]);
  const format = requests.at(-1).body.text?.format;
  assert.equal(format?.type, "json_schema");
  assert.deepEqual(format?.schema, schema);
});

await step("turn 4: a refused request fails the turn with the model's message", async () => {
  replies.push({ status: 400, message: "this model does not exist" });
  await assert.rejects(thread.run("fail please"), /this model does not exist/);
});

server.close();
fs.rmSync(root, { recursive: true, force: true });
if (failures > 0) {
  console.log(`${failures} step(s) failed`);
  process.exit(1);
}
console.log(`all steps passed (${requests.length} requests)`);
