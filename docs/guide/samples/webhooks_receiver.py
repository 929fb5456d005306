"""Receive and verify webhooks with the Python SDK, on the raw body, both signatures, during a rotation.

Starts a receiver on PORT, registers it (RECEIVER_URL, as the API can reach it), sends the test event,
rotates the secret and sends it again: both deliveries verify with [new secret, old secret].
"""

import os
import queue
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from garmax import Garmax, WebhookVerificationError, webhooks

client = Garmax(api_key=os.environ["GARMAX_API_KEY"])
secrets: list[str] = []
verified: queue.Queue = queue.Queue()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))  # the raw body, never re-serialized
        try:
            event = webhooks.construct_event(raw, self.headers, secrets)  # Standard Webhooks, replay-safe
            webhooks.verify_hex(raw, self.headers, secrets)  # the hex X-Webhook-Signature verifies too
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        verified.put(event)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8002"))), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = os.environ.get("RECEIVER_URL", f"http://127.0.0.1:{server.server_port}/garmax")

endpoint = client.webhooks.create(url=url, events=["cart_tryon.completed", "cart_tryon.cancelled"])
secrets.append(endpoint["secret"])  # shown once: keep it in your secret store
client.webhooks.test(endpoint["id"])
print("verified:", verified.get(timeout=30)["event"])

rotated = client.webhooks.rotate_secret(endpoint["id"])
secrets.insert(0, rotated["secret"])  # the new one first; the old one still signs for 24 hours
client.webhooks.test(endpoint["id"])
print("verified after rotation:", verified.get(timeout=30)["event"])
client.webhooks.delete(endpoint["id"])
server.shutdown()
