"""``python -m codepro_leads.app [--port N]`` (``make app``): the app on 127.0.0.1, headless,
without usage statistics, for the Kedro project of the working directory."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from codepro_leads.app import MAX_UPLOAD_MB


def streamlit_command(port: int) -> list[str]:
    """``streamlit run`` of the app (``toolbarMode minimal``: no "Deploy" button)."""
    options = {
        "server.address": "127.0.0.1",
        "server.port": port,
        "server.headless": "true",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "minimal",
        "server.maxUploadSize": MAX_UPLOAD_MB,
    }
    return [sys.executable, "-m", "streamlit", "run", str(Path(__file__).with_name("main.py"))] + [
        f"--{name}={value}" for name, value in options.items()
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m codepro_leads.app", description=__doc__)
    parser.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (8501)")
    command = streamlit_command(parser.parse_args(argv).port)
    os.execv(command[0], command)  # the server is this process: stopping it stops the app


if __name__ == "__main__":
    main()
