"""The outside parties of .ci/fuzz-api, as real HTTP servers on loopback: WeChat's server API
(every code the fuzzer makes up is one WeChat does not know: errcode 40029) and the SMS
gateway (every code is accepted for delivery). Prints the port, then serves until killed."""
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Outside(BaseHTTPRequestHandler):
    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # WeChat: jscode2session, access tokens
        if self.path.startswith("/cgi-bin/token"):
            self.answer({"access_token": "fake-access-token", "expires_in": 7200})
        else:
            self.answer({"errcode": 40029, "errmsg": "invalid code"})

    def do_POST(self):  # WeChat's phone number API, and the SMS gateway
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/wxa/"):
            self.answer({"errcode": 40029, "errmsg": "invalid code"})
        else:
            self.answer({"accepted": True})

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Outside)
print(server.server_address[1], flush=True)
server.serve_forever()
