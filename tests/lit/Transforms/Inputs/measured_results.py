"""Writes results as skim-tune-measure would for the variant whose
`skim tune --dry-run` output is argv[1]: one stage per argv[2:] pair
(stage, best schedule), measured on "TestGPU" with driver "cuda-0"."""
import json
import re
import sys

dry = open(sys.argv[1]).read()
head = re.search(r"for (\S+) at (\S+):", dry)
key = re.search(r"variant signature ([0-9a-f]+), (.*)", dry)
pairs = sys.argv[2:]
stages = [{"stage": pairs[i], "best": pairs[i + 1], "best_ms": 1.5, "default_ms": 2.0,
           "trials": [{"index": 0, "schedule": "", "ms": 2.0},
                      {"index": 1, "schedule": pairs[i + 1], "ms": 1.5}]}
          for i in range(0, len(pairs), 2)]
json.dump({"variant": "test", "target": head.group(1), "bucket": head.group(2),
           "signature": key.group(1), "skim_version": key.group(2),
           "device": "TestGPU", "driver": "cuda-0", "stages": stages}, sys.stdout)
