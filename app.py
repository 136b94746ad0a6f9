"""`python app.py [--host H] [--port P] [--root-path /x] [--index DIR]`: the chat page, for a
checkout of the repository; the same as `backbot serve`. The page itself is `bot/page.py`."""
import sys

from bot.page import main

if __name__ == "__main__":
    sys.exit(main())
