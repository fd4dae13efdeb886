import os
import sys

# gRPC's C core logs connection teardown at INFO on stderr, which UnityEnvironment may leave
# attached to the trainer's terminal; the twin's own log goes to -logFile.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from .player import main  # noqa: E402

sys.exit(main())
