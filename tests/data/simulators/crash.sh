#!/bin/sh
# Dies of a segmentation fault halfway through.
echo "starting the optimizer" >&2
kill -SEGV $$
