#!/usr/bin/env python3
"""Browser smoke test (run by .ci/run): creates a demo database, serves it, and in headless
Chromium logs in, searches a donor by kana, opens the detail page, and checks the dashboard.

usage: tools/smoke.py path/to/furusato [screenshot-dir]
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser import Browser  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    exe = sys.argv[1]
    shots = sys.argv[2] if len(sys.argv) > 2 else None
    data = tempfile.mkdtemp(prefix="furusato-smoke-")
    env = dict(os.environ, FURUSATO_DATA_DIR=data)
    env.pop("FURUSATO_DATABASE_URL", None)
    out = subprocess.run([exe, "demo", "--no-serve", "--size", "2000"], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        sys.exit(f"demo failed:\n{out.stdout}\n{out.stderr}")
    logins = dict(re.findall(r"^\s+(\S+)\s+(Demo-\S+)\s", out.stdout, re.M))
    assert "operator" in logins, out.stdout
    port = free_port()
    server = subprocess.Popen([exe, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit("server did not start")
        with Browser() as b:
            b.goto(base + "/donors")
            assert "/login" in b.url(), f"unauthenticated access was not redirected: {b.url()}"
            b.fill("input[name=login]", "operator")
            b.fill("input[name=password]", logins["operator"])
            b.click("form[action='/login'] button[type=submit]")
            assert b.url().endswith("/donors"), f"login did not return to the donor search: {b.url()}"
            # A donor that exists: take the kana of the first donor found by a one-letter search.
            b.fill("input[name=kana]", "サ")
            b.click("form.filters button[type=submit]")
            text = b.text()
            assert "件" in text, "no result count on the search page"
            first = b.eval("(() => { const a = document.querySelector('table a[href^=\"/donors/\"]'); return a && a.getAttribute('href'); })()")
            assert first, "the search found no donor"
            if shots:
                b.screenshot(os.path.join(shots, "search.png"))
            b.goto(base + first)
            detail = b.text()
            assert "寄附番号" in detail and "〒" in detail, "the detail page does not show the donor's data"
            if shots:
                b.screenshot(os.path.join(shots, "detail.png"))
            b.goto(base + "/dashboard")
            assert "年度の寄附件数" in b.text(), "the dashboard did not render"
            if shots:
                b.screenshot(os.path.join(shots, "dashboard.png"))
        print("browser smoke test: ok (login, donor search, donor detail, dashboard)")
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
