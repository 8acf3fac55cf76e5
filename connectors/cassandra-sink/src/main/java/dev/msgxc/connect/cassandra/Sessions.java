package dev.msgxc.connect.cassandra;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.internal.core.retry.DefaultRetryPolicy;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.apache.kafka.common.config.ConfigException;

/** Opens the driver session a task writes through. */
final class Sessions {
  private Sessions() {}

  static CqlSession open(CassandraSinkConfig config) {
    DriverConfigLoader loader = DriverConfigLoader.programmaticBuilder()
        .withDuration(DefaultDriverOption.REQUEST_TIMEOUT,
            Duration.ofMillis(config.getLong(CassandraSinkConfig.REQUEST_TIMEOUT_MS)))
        // Upserts are idempotent, so the driver's retry policy may retry write timeouts too.
        .withBoolean(DefaultDriverOption.REQUEST_DEFAULT_IDEMPOTENCE, true)
        .withClass(DefaultDriverOption.RETRY_POLICY_CLASS, DefaultRetryPolicy.class)
        .withString(DefaultDriverOption.REQUEST_CONSISTENCY, "LOCAL_QUORUM")
        .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(10))
        .withDuration(DefaultDriverOption.METADATA_SCHEMA_REQUEST_TIMEOUT, Duration.ofSeconds(10))
        .build();
    CqlSessionBuilder builder = CqlSession.builder()
        .withConfigLoader(loader)
        .withLocalDatacenter(config.getString(CassandraSinkConfig.LOCAL_DATACENTER))
        // The connector's plugin class loader holds the driver; the thread's would not find its classes.
        .withClassLoader(Sessions.class.getClassLoader());
    for (String point : config.contactPoints()) builder.addContactPoint(address(point.trim()));
    return builder.build();
  }

  static InetSocketAddress address(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0) throw new ConfigException(CassandraSinkConfig.CONTACT_POINTS, hostPort, "expected host:port");
    try {
      return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    } catch (NumberFormatException error) {
      throw new ConfigException(CassandraSinkConfig.CONTACT_POINTS, hostPort, "expected host:port");
    }
  }
}
