#!/usr/bin/python3
"""tests/support/stack.py (same CLI: up/down) whose ECR/STS endpoint is fast_ecr_endpoint.py."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import stack  # noqa: E402

stack.ENDPOINT_SCRIPT = os.path.join(HERE, "fast_ecr_endpoint.py")

if __name__ == "__main__":
    sys.exit(stack.main())
