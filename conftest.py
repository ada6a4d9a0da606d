"""This repository's own pytest set-up. The vlmq plugin itself is `vlmq.plugin`, loaded through
its `pytest11` entry point once vlmq is installed (`scripts/setup.sh` installs it in editable
mode), exactly as in any other repository that uses vlmq."""
