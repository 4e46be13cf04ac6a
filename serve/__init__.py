"""The minyi service: FastAPI app (``serve.main``), database (``serve.db``), dispatcher console."""
