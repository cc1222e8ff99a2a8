"""Make docs/screenshots/forecast-run.png: a real server, Debian's chromium, a forecast of
examples/patient_history.csv over 3 weeks through the Forecast page.

Not a test (a forecast takes minutes on 2 cores); run by hand when the page changes:

    uv run python tests/web_screenshot_forecast.py
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from neuroplast.web import Limits, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(Limits(trial_timeout_s=1500)), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=srv.run, daemon=True).start()
    while not srv.started:
        time.sleep(0.1)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(1_500_000)
        page.goto(f"http://127.0.0.1:{port}/forecast")
        page.wait_for_selector("#file")
        page.set_input_files("#file", str(ROOT / "examples" / "patient_history.csv"))
        page.wait_for_function("() => document.getElementById('history').value.length > 100")
        page.fill("#weeks", "3")
        t0 = time.monotonic()
        page.click("#run")
        page.wait_for_function("() => !document.getElementById('run').disabled")
        print(
            f"forecast took {time.monotonic() - t0:.0f} s; page errors: {errors or 'none'}; "
            f"{page.locator('#errors').inner_text() or 'no error shown'}"
        )
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "forecast-run.png"), full_page=True)
        browser.close()
    srv.should_exit = True


if __name__ == "__main__":
    main()
