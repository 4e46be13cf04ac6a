"""The service with the stub model in a real uvicorn process: ``python tests/serve/stub_server.py PORT``.

Settings come from the environment (``MINYI_DATABASE_URL``, ``MINYI_API_KEYS`` …), as for ``minyi serve``;
only the model is the stub of serve_helpers (a reload builds another stub). Used by test_reliability.py
where the real model is not the point (SIGKILL rounds, load).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]  # serve_helpers, bundle_helpers


def main(port: int) -> None:
    import uvicorn
    from serve_helpers import make_stub_dispatcher

    from serve.main import create_app
    from serve.settings import ServeSettings

    app = create_app(ServeSettings(), dispatcher=make_stub_dispatcher(), loader=make_stub_dispatcher)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
