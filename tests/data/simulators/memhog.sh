#!/bin/sh
# Tries to hold 400 MB in memory.
x=$(head -c 400000000 /dev/zero | tr '\0' 'm')
echo "${#x}"
