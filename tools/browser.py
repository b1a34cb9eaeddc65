#!/usr/bin/env python3
"""A tiny driver for headless Chromium over the DevTools protocol (our own code; needs the
`websocket-client` package). Used by the CI smoke test and for screenshots while developing.

    with Browser() as b:
        b.goto("http://127.0.0.1:8080/login")
        b.fill("input[name=login]", "city"); b.fill("input[name=password]", "…")
        b.click("button[type=submit]"); b.wait_load()
        b.screenshot("/tmp/page.png")
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import websocket


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Browser:
    def __init__(self, width=1400, height=1000, chromium=None):
        self.chromium = chromium or os.environ.get("CHROMIUM", "/usr/bin/chromium")
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="furusato-chromium-")
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={self.port}", f"--window-size={width},{height}", "about:blank",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        ws_url = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json") as r:
                    pages = [p for p in json.load(r) if p.get("type") == "page"]
                    if pages:
                        ws_url = pages[0]["webSocketDebuggerUrl"]
                        break
            except OSError:
                pass
            time.sleep(0.1)
        if not ws_url:
            self.close()
            raise RuntimeError("chromium did not start")
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.msg_id = 0
        self.events = []
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method, **params):
        self.msg_id += 1
        my_id = self.msg_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"javascript error: {r['exceptionDetails']}")
        return r.get("result", {}).get("value")

    def wait_load(self, timeout=20):
        end = time.time() + timeout
        time.sleep(0.2)
        while time.time() < end:
            if self.eval("document.readyState") == "complete":
                return
            time.sleep(0.1)
        raise RuntimeError("page did not finish loading")

    def goto(self, url):
        self.call("Page.navigate", url=url)
        self.wait_load()

    def fill(self, selector, value):
        ok = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false;"
            f" e.value = {json.dumps(value)}; e.dispatchEvent(new Event('change', {{bubbles: true}})); return true; }})()"
        )
        if not ok:
            raise RuntimeError(f"no element {selector} on {self.url()}")

    def click(self, selector):
        ok = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return false; e.click(); return true; }})()"
        )
        if not ok:
            raise RuntimeError(f"no element {selector} on {self.url()}")
        self.wait_load()

    def url(self):
        return self.eval("location.href")

    def text(self):
        return self.eval("document.body ? document.body.innerText : ''")

    def screenshot(self, path, full_page=True):
        params = {"format": "png"}
        if full_page:
            h = self.eval("Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)") or self.height
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": min(int(h), 8000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
