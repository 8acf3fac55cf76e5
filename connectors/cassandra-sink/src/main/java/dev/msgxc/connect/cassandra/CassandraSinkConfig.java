package dev.msgxc.connect.cassandra;

import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Type;

/** A sink's declaration: where Cassandra is, which table, and how record fields become columns. */
public final class CassandraSinkConfig extends AbstractConfig {
  public static final String CONTACT_POINTS = "cassandra.contact.points";
  public static final String LOCAL_DATACENTER = "cassandra.local.datacenter";
  public static final String KEYSPACE = "cassandra.keyspace";
  public static final String TABLE = "cassandra.table";
  public static final String COLUMNS = "columns";
  public static final String SKIP_WHEN_NULL = "skip.when.null";
  public static final String REQUEST_TIMEOUT_MS = "cassandra.request.timeout.ms";
  public static final String MAX_CONCURRENT_BATCHES = "cassandra.max.concurrent.batches";
  public static final String BATCH_MAX_ROWS = "cassandra.batch.max.rows";

  public static final ConfigDef DEFINITION =
      new ConfigDef()
          .define(CONTACT_POINTS, Type.LIST, "127.0.0.1:9042", Importance.HIGH,
              "Cassandra contact points, host:port, comma-separated.")
          .define(LOCAL_DATACENTER, Type.STRING, "datacenter1", Importance.HIGH,
              "The data centre the driver treats as local.")
          .define(KEYSPACE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
              Importance.HIGH, "Keyspace of the table.")
          .define(TABLE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
              Importance.HIGH, "The table every record becomes a row of (an upsert on its primary key).")
          .define(COLUMNS, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH,
              "column=expression pairs: a field path (sender.kind), or day(path) / hour(path) for the UTC"
                  + " day or hour of a timestamp field.")
          .define(SKIP_WHEN_NULL, Type.LIST, "", Importance.MEDIUM,
              "Columns whose null value means the record does not belong in this table: it is skipped,"
                  + " not an error.")
          .define(REQUEST_TIMEOUT_MS, Type.LONG, 10_000L, Importance.LOW,
              "Driver request timeout in milliseconds.")
          .define(MAX_CONCURRENT_BATCHES, Type.INT, 64, ConfigDef.Range.atLeast(1), Importance.LOW,
              "How many per-partition batches one task writes at once.")
          // Cassandra warns above 5 KiB and refuses above 50 KiB per batch; event rows are a few hundred bytes.
          .define(BATCH_MAX_ROWS, Type.INT, 16, ConfigDef.Range.between(1, 100), Importance.LOW,
              "Most rows in one unlogged batch (all rows of a batch share a partition key).");

  public CassandraSinkConfig(Map<String, String> properties) {
    super(DEFINITION, properties);
  }

  public List<String> contactPoints() {
    return getList(CONTACT_POINTS);
  }

  public ColumnMapping mapping() {
    return ColumnMapping.parse(getList(COLUMNS), getList(SKIP_WHEN_NULL));
  }
}
