"""`python -m vlmq.synth NAME OUT [--layers N] [--dtype D]` (see vlmq.synth.command)."""

from vlmq.synth.command import main

raise SystemExit(main())
