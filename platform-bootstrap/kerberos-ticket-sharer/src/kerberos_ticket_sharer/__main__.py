import sys

from kerberos_ticket_sharer.cli import main

sys.exit(main())
