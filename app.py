"""Start the document chat web server (UI, JSON API, embed page, widget) on one port.

    python app.py                      # http://127.0.0.1:7860/  (settings from CHATBOT_* / .env)
    python app.py --host 0.0.0.0 --port 8080 --root-path /chat

Same as ``chatbot serve``. The Chatbot is loaded (index built if missing) when the server starts.
"""

from __future__ import annotations

import argparse
import sys

from chatbot.errors import ChatbotError
from chatbot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve the document chat UI and JSON API.")
    p.add_argument("--host", help="bind address (default CHATBOT_HOST or 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default CHATBOT_PORT or 7860)")
    p.add_argument("--root-path", help="URL prefix behind a reverse proxy, e.g. /chat (CHATBOT_ROOT_PATH)")
    p.add_argument("--workers", type=int, help="server processes on the one port (CHATBOT_WORKERS, default 1)")
    args = p.parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port), ("root_path", args.root_path), ("workers", args.workers)) if v is not None}
    try:
        from chatbot.web.server import serve

        serve(Settings.from_env(**overrides))
    except ChatbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
