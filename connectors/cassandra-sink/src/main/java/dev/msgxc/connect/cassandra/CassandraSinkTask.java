package dev.msgxc.connect.cassandra;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.metadata.schema.TableMetadata;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * put() starts the writes and returns, so consuming and writing overlap; preCommit() waits for every
 * write before Connect commits the offsets, so a committed offset only ever covers rows already in
 * Cassandra (or records in the dead-letter queue). A crash before the commit replays records; the
 * writes are upserts on the table's primary key, so a replay leaves the same rows.
 */
public final class CassandraSinkTask extends SinkTask {
  private static final Logger log = LoggerFactory.getLogger(CassandraSinkTask.class);

  private CqlSession session;
  private RowBinder binder;
  private BatchWriter writer;
  private ErrantRecordReporter reporter;
  private long skipped;
  private final List<Future<Void>> reported = new ArrayList<>();

  @Override
  public String version() {
    return CassandraSinkConnector.VERSION;
  }

  @Override
  public void start(Map<String, String> properties) {
    CassandraSinkConfig config = new CassandraSinkConfig(properties);
    String keyspace = config.getString(CassandraSinkConfig.KEYSPACE);
    String table = config.getString(CassandraSinkConfig.TABLE);
    session = Sessions.open(config);
    TableMetadata metadata = session.getMetadata().getKeyspace(keyspace).flatMap(ks -> ks.getTable(table))
        .orElseThrow(() -> new ConnectException("table " + keyspace + "." + table
            + " does not exist; run `msgxc migrate` first"));
    binder = new RowBinder(config.mapping(), metadata);
    PreparedStatement insert = session.prepare(binder.insertCql());
    writer = new BatchWriter(session, insert, binder.partitionKeyIndexes(),
        config.getInt(CassandraSinkConfig.MAX_CONCURRENT_BATCHES),
        config.getInt(CassandraSinkConfig.BATCH_MAX_ROWS));
    reporter = errantRecordReporter();
    log.info("Cassandra sink task writing {}.{} ({} columns)", keyspace, table, binder.insertCql());
  }

  private ErrantRecordReporter errantRecordReporter() {
    try {
      return context.errantRecordReporter();
    } catch (NoSuchMethodError | NoClassDefFoundError olderWorker) {
      return null; // a worker older than Connect 2.6 has no reporter: a bad record then fails the task
    }
  }

  /** Converts the records and starts their writes; {@link #preCommit} waits for them. */
  @Override
  public void put(Collection<SinkRecord> records) {
    if (records.isEmpty()) return;
    List<BatchWriter.Row> rows = new ArrayList<>(records.size());
    for (SinkRecord record : records) {
      try {
        rows.add(new BatchWriter.Row(record, binder.bind(record.value())));
      } catch (ColumnMapping.SkipRecord skip) {
        skipped++;
        log.debug("skipped {}-{}@{}: {}", record.topic(), record.kafkaPartition(), record.kafkaOffset(), skip.getMessage());
      } catch (RuntimeException unwritable) {
        reported.add(report(record, unwritable));
      }
    }
    writer.submit(rows);
  }

  /**
   * Connect is about to commit the offsets of everything put() was given: wait until all of it is
   * in Cassandra or in the dead-letter queue. An outage throws, and Connect then rewinds to the last
   * committed offsets instead of committing these.
   */
  @Override
  public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
    for (BatchWriter.Failure failure : writer.awaitAll()) reported.add(report(failure.record(), failure.error()));
    awaitAll(reported);
    reported.clear();
    return currentOffsets;
  }

  private Future<Void> report(SinkRecord record, Throwable error) {
    if (reporter == null) {
      throw new ConnectException("cannot write " + record.topic() + "-" + record.kafkaPartition() + "@"
          + record.kafkaOffset() + " and no dead-letter reporter is configured", error);
    }
    log.warn("record {}-{}@{} goes to the dead-letter queue: {}", record.topic(), record.kafkaPartition(),
        record.kafkaOffset(), error.getMessage());
    return reporter.report(record, error);
  }

  /** The dead-letter writes land before put returns, so a commit never covers a record that is nowhere. */
  private static void awaitAll(List<Future<Void>> futures) {
    for (Future<Void> future : futures) {
      try {
        future.get();
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw new RetriableException("interrupted while writing to the dead-letter queue", interrupted);
      } catch (ExecutionException failed) {
        throw new ConnectException("could not write to the dead-letter queue", failed.getCause());
      }
    }
  }

  @Override
  public void stop() {
    if (session != null) {
      log.info("Cassandra sink task stopping; {} records skipped (a skip-when-null column was null)", skipped);
      CompletionStage<Void> closing = session.closeAsync();
      closing.toCompletableFuture().join();
    }
  }

}
