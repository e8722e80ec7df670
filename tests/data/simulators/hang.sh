#!/bin/sh
# Never finishes: runs far past any time limit (with a child process in its group).
echo "thinking..." >&2
sleep 987
