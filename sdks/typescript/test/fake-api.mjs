// A scripted API on loopback (node:http): each test queues the answers, the server records every request.
import { createServer } from "node:http";

export class FakeAPI {
  constructor() {
    this.answers = [];
    this.requests = [];
    this.server = createServer((request, response) => {
      const chunks = [];
      request.on("data", (chunk) => chunks.push(chunk));
      request.on("end", () => {
        this.requests.push({
          method: request.method,
          path: request.url,
          headers: request.headers,
          body: Buffer.concat(chunks),
        });
        const answer = this.answers.shift() ?? { status: 500, body: { error: "NoAnswerQueued" } };
        if (answer.drop) {
          request.socket.destroy();
          return;
        }
        const raw = answer.body === undefined ? "" : typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
        response.writeHead(answer.status ?? 200, {
          "Content-Type": "application/json",
          "X-Request-Id": `req_${this.requests.length}`,
          ...(answer.headers ?? {}),
        });
        response.end(raw);
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.server.address().port}/api`;
  }

  queue(...answers) {
    this.answers.push(...answers);
  }

  close() {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(resolve));
  }
}
