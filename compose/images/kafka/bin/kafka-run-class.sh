#!/bin/sh
# kafka-run-class.sh CLASS ARGS...: a Kafka tool with the image's jars, quiet logging, and a
# JVM tuned to start fast (tools are short-lived).
exec java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j.configuration=file:/opt/kafka/bin/tools-log4j.properties -cp '/opt/kafka/libs/*' "$@"
