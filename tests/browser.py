"""A real headless Chromium (the distribution's package, /usr/bin/chromium) driven over the Chrome
DevTools Protocol: navigate, run a line of script, wait for page loads, take screenshots. Nothing is
downloaded; tests skip with the reason when Chromium or the websockets package is missing."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.service_helpers import terminate
from tests.load import scaled

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", "--window-size=1280,1000"]


def chromium_path() -> str | None:
    return next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")) if p and
                 Path(p).exists()), None)


def missing_reason() -> str | None:
    if chromium_path() is None:
        return "headless Chromium is not installed (apt-get install -y chromium; .ci/run does it as root)"
    try:
        import websockets.sync.client  # noqa: F401
    except ImportError:
        return "the websockets package (a dev extra) is not installed"
    return None


class Chromium:
    def __init__(self, profile_dir: Path):
        from websockets.sync.client import connect

        profile_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([chromium_path(), *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + scaled(30)
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        pages = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"]
        self.ws = connect(pages[0]["webSocketDebuggerUrl"], max_size=None).__enter__()
        self.next_id, self.events = 0, []
        self.call("Page.enable")

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=scaled(30)))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message.get("method"))

    def wait_for_load(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + scaled(timeout)
        while "Page.loadEventFired" not in self.events:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(message.get("method"))
        self.events.clear()

    def go(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def act_and_wait(self, expression: str) -> None:
        """Run a script that navigates (a click, a form submit) and wait for the new page."""
        self.events.clear()
        self.js(expression)
        self.wait_for_load()

    def screenshot(self, path: Path) -> Path:
        height = self.js("document.documentElement.scrollHeight")
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=min(int(height), 4000), deviceScaleFactor=1,
                  mobile=False)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        terminate(self.proc, 10)
