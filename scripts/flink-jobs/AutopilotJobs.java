import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

/**
 * The three canned jobs flink-autopilot's local Flink runs (scripts/flink-local submit MODE).
 * Only APIs present in both Flink 1.20 and 2.x: DataGeneratorSource (rate-limited, new Source API),
 * DataStream map/keyBy, and the Sink V2 DiscardingSink. Restart strategy and checkpointing come
 * from the cluster's configuration (fixed-delay, 2 s; checkpoints every 10 s).
 *
 * <ul>
 *   <li>healthy: generator (200 records/s) -> keyBy -> map (parallelism 2) -> discarding sink.
 *   <li>cpu: generator (1500 records/s) -> rebalance -> map at parallelism 1 that costs about 1 ms
 *       per record, so it can do under 1000 records/s: it is busy ~1000 ms/s and the source is
 *       backpressured. The per-record cost is mostly a park, which Flink counts as busy time like
 *       CPU work, so the saturated job does not take a core of a small shared machine.
 *   <li>closed-port: generator (10 records/s) -> a sink stage that opens a TCP connection to a
 *       closed loopback port for every record: ConnectException, failover, restart loop.
 * </ul>
 *
 * Arguments: MODE [closed port number].
 */
public class AutopilotJobs {

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "";
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    switch (mode) {
      case "healthy":
        generator(env, 200.0)
            .keyBy(v -> v % 64)
            .map(new Square())
            .name("enrich")
            .setParallelism(2)
            .sinkTo(new DiscardingSink<>())
            .name("discard")
            .setParallelism(2);
        env.execute("autopilot-healthy");
        break;
      case "cpu":
        generator(env, 1500.0)
            .rebalance()
            .map(new CostlyMap())
            .name("cpu-work")
            .setParallelism(1)
            .sinkTo(new DiscardingSink<>())
            .name("discard")
            .setParallelism(1);
        env.execute("autopilot-cpu");
        break;
      case "closed-port":
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 9;
        generator(env, 10.0)
            .map(new ClosedPortWriter(port))
            .name("closed-port-sink")
            .setParallelism(1)
            .sinkTo(new DiscardingSink<>())
            .name("discard")
            .setParallelism(1);
        env.execute("autopilot-closed-port");
        break;
      default:
        throw new IllegalArgumentException(
            "unknown mode '" + mode + "': expected healthy, cpu or closed-port");
    }
  }

  private static DataStream<Long> generator(StreamExecutionEnvironment env, double perSecond) {
    DataGeneratorSource<Long> source =
        new DataGeneratorSource<>(
            new IdentityGenerator(), Long.MAX_VALUE, RateLimiterStrategy.perSecond(perSecond), Types.LONG);
    return env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator").setParallelism(1);
  }

  /** Passes the sequence number through. */
  public static final class IdentityGenerator
      implements org.apache.flink.connector.datagen.source.GeneratorFunction<Long, Long> {
    @Override
    public Long map(Long value) {
      return value;
    }
  }

  /** Cheap per-record work. */
  public static final class Square implements MapFunction<Long, Long> {
    @Override
    public Long map(Long value) {
      return value * value;
    }
  }

  /** About 1 ms per record: a little hashing, then a park for the rest. */
  public static final class CostlyMap implements MapFunction<Long, Long> {
    @Override
    public Long map(Long value) {
      long h = value;
      for (int i = 0; i < 2000; i++) h = h * 6364136223846793005L + 1442695040888963407L;
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(950));
      return h;
    }
  }

  /** Writes each record to a TCP port nobody listens on, so every write fails. */
  public static final class ClosedPortWriter implements MapFunction<Long, Long> {
    private final int port;

    public ClosedPortWriter(int port) {
      this.port = port;
    }

    @Override
    public Long map(Long value) throws IOException {
      try (Socket socket = new Socket()) {
        socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        socket.getOutputStream().write(Long.toString(value).getBytes());
      }
      return value;
    }
  }
}
