package querygoal.peer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.TopicNameExtractor;

/**
 * The querygoal pipeline's pass-through stages as one Kafka Streams application: for
 * each stage, read {@code <prefix>.<stage>}, append the stage's entry to the goal's
 * execution log and write the goal to the topic of the next stage in its own
 * {@code metadata.pipelineStages} ({@code <prefix>.completed} after the last one, {@code
 * <prefix>.dlq} when the stage is not in the pipeline).
 *
 * <pre>
 * usage: PassStages --bootstrap HOST:PORT --prefix P --stages a,b,c
 *                   [--guarantee at_least_once|exactly_once_v2] [--threads N]
 *                   [--set streams.property=value]...
 * </pre>
 *
 * Prints "RUNNING" on stdout once the application is running; stops on SIGTERM.
 */
public final class PassStages {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter ISO_MS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private PassStages() {}

  /** Goals as Jackson trees; undecodable values are skipped by the deserialization handler. */
  static final class GoalSerde implements Serde<JsonNode> {
    @Override
    public Serializer<JsonNode> serializer() {
      return (topic, goal) -> {
        try {
          return goal == null ? null : JSON.writeValueAsBytes(goal);
        } catch (Exception e) {
          throw new SerializationException("cannot serialise goal", e);
        }
      };
    }

    @Override
    public Deserializer<JsonNode> deserializer() {
      return (topic, bytes) -> {
        try {
          return bytes == null ? null : JSON.readTree(bytes);
        } catch (Exception e) {
          throw new SerializationException("not a JSON goal on " + topic, e);
        }
      };
    }
  }

  /** Append this stage's completed entry to executionLog.stages, as a worker does. */
  static JsonNode logStage(JsonNode goal, String stage, String worker) {
    long started = System.currentTimeMillis();
    ObjectNode doc = (ObjectNode) goal;
    JsonNode log = doc.get("executionLog");
    ObjectNode execLog;
    if (log instanceof ObjectNode) {
      execLog = (ObjectNode) log;
    } else {
      execLog = doc.putObject("executionLog");
      execLog.put("goalId", doc.path("QueryGoal").path("goalId").asText());
      execLog.put("startTime", ISO_MS.format(Instant.ofEpochMilli(started)));
      execLog.put("status", "running");
    }
    ArrayNode stages =
        execLog.get("stages") instanceof ArrayNode
            ? (ArrayNode) execLog.get("stages")
            : execLog.putArray("stages");
    ObjectNode entry = stages.addObject();
    entry.put("stage", stage);
    entry.put("status", "completed");
    entry.putObject("result").put("passedBy", worker);
    ObjectNode gate = entry.putObject("gate");
    gate.put("passed", true);
    gate.put("reason", "pass-through");
    long finished = System.currentTimeMillis();
    entry.put("startedAt", ISO_MS.format(Instant.ofEpochMilli(started)));
    entry.put("finishedAt", ISO_MS.format(Instant.ofEpochMilli(finished)));
    entry.put("durationMs", finished - started);
    entry.put("worker", worker);
    String next = nextStage(goal, stage);
    if (next == null || next.isEmpty()) {
      execLog.put("status", "completed");
      execLog.put("endTime", ISO_MS.format(Instant.ofEpochMilli(finished)));
    } else {
      execLog.put("status", "running");
    }
    return doc;
  }

  /** The stage after {@code stage} in the goal's pipeline: "" after the last, null if absent. */
  static String nextStage(JsonNode goal, String stage) {
    JsonNode pipeline = goal.path("QueryGoal").path("metadata").path("pipelineStages");
    for (int i = 0; i < pipeline.size(); i++) {
      if (stage.equals(pipeline.get(i).asText())) {
        return i + 1 < pipeline.size() ? pipeline.get(i + 1).asText() : "";
      }
    }
    return null;
  }

  static TopicNameExtractor<String, JsonNode> routeAfter(String prefix, String stage) {
    return (key, goal, context) -> {
      String next = nextStage(goal, stage);
      if (next == null) {
        return prefix + ".dlq";
      }
      return next.isEmpty() ? prefix + ".completed" : prefix + "." + next;
    };
  }

  static Topology topology(String prefix, List<String> stages, String worker) {
    StreamsBuilder builder = new StreamsBuilder();
    GoalSerde goals = new GoalSerde();
    for (String stage : stages) {
      builder.stream(prefix + "." + stage, Consumed.with(Serdes.String(), goals))
          .filter((goalId, goal) -> goal instanceof ObjectNode)
          .mapValues(goal -> logStage(goal, stage, worker))
          .to(routeAfter(prefix, stage), Produced.with(Serdes.String(), goals));
    }
    return builder.build();
  }

  public static void main(String[] args) throws InterruptedException {
    String bootstrap = null;
    String prefix = null;
    List<String> stages = new ArrayList<>();
    String guarantee = StreamsConfig.AT_LEAST_ONCE;
    int threads = 1;
    Properties props = new Properties();
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--bootstrap" -> bootstrap = args[i + 1];
        case "--prefix" -> prefix = args[i + 1];
        case "--stages" -> stages.addAll(List.of(args[i + 1].split(",")));
        case "--guarantee" -> guarantee = args[i + 1];
        case "--threads" -> threads = Integer.parseInt(args[i + 1]);
        case "--set" -> {
          String[] kv = args[i + 1].split("=", 2);
          props.put(kv[0], kv.length > 1 ? kv[1] : "");
        }
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    if (bootstrap == null || prefix == null || stages.isEmpty()) {
      System.err.println("usage: PassStages --bootstrap B --prefix P --stages a,b,c ...");
      System.exit(2);
    }
    props.putIfAbsent(StreamsConfig.APPLICATION_ID_CONFIG, prefix + ".streams-peer");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    props.putIfAbsent(
        StreamsConfig.DEFAULT_DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndContinueExceptionHandler.class);
    String worker = "streams-peer/" + ProcessHandle.current().pid();

    KafkaStreams streams = new KafkaStreams(topology(prefix, stages, worker), props);
    CountDownLatch stopped = new CountDownLatch(1);
    streams.setStateListener(
        (now, before) -> {
          if (now == KafkaStreams.State.RUNNING) {
            System.out.println("RUNNING");
            System.out.flush();
          }
          if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
            stopped.countDown();
          }
        });
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(10));
                  stopped.countDown();
                }));
    streams.start();
    stopped.await();
    if (streams.state() == KafkaStreams.State.ERROR) {
      System.exit(1);
    }
  }
}
