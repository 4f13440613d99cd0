"""What the tests and the benchmarks run against: the whole system started as real
processes (`system.py`, `running.py`), a real browser (`browser.py`), local stand-ins for
Rasa and the Telegram Bot API (`fake_rasa.py`, `fake_telegram.py` on `local_server.py`),
small real translation packages (`argos_package.py`) and test data (`factories.py`)."""
