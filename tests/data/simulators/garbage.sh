#!/bin/sh
# Exits 0 but writes garbage where the result belongs.
printf 'predicted: about an hour {{{ not json' >"$2/simulator_optimization_result.json"
