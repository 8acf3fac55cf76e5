package dev.msgxc.connect.cassandra;

import com.datastax.oss.driver.api.core.AllNodesFailedException;
import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.DriverTimeoutException;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchStatementBuilder;
import com.datastax.oss.driver.api.core.cql.BatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.Statement;
import com.datastax.oss.driver.api.core.servererrors.BootstrappingException;
import com.datastax.oss.driver.api.core.servererrors.OverloadedException;
import com.datastax.oss.driver.api.core.servererrors.QueryExecutionException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;

/**
 * Writes rows as unlogged batches, one per partition key (a single-partition batch is one mutation on
 * one replica set), several at once. A batch Cassandra refuses for the data in it is retried row by
 * row so only the rows that cannot be written are reported; an outage (timeouts, no node) is
 * retriable: Connect hands the same records to put() again and the upserts make that harmless.
 */
final class BatchWriter {
  record Row(SinkRecord record, Object[] values) {}

  record Failure(SinkRecord record, Throwable error) {}

  private final CqlSession session;
  private final PreparedStatement insert;
  private final int[] partitionKey;
  private final int maxConcurrent;
  private final int maxRows;

  BatchWriter(CqlSession session, PreparedStatement insert, int[] partitionKey, int maxConcurrent, int maxRows) {
    this.session = session;
    this.insert = insert;
    this.partitionKey = partitionKey;
    this.maxConcurrent = maxConcurrent;
    this.maxRows = maxRows;
  }

  /** Groups rows by partition key, at most maxRows a group, order kept within a partition. */
  static List<List<Row>> groups(List<Row> rows, int[] partitionKey, int maxRows) {
    Map<List<Object>, List<Row>> byPartition = new LinkedHashMap<>();
    for (Row row : rows) {
      List<Object> key = Arrays.stream(partitionKey).mapToObj(index -> row.values()[index]).toList();
      byPartition.computeIfAbsent(key, ignored -> new ArrayList<>()).add(row);
    }
    List<List<Row>> groups = new ArrayList<>();
    for (List<Row> partition : byPartition.values()) {
      for (int start = 0; start < partition.size(); start += maxRows) {
        groups.add(partition.subList(start, Math.min(partition.size(), start + maxRows)));
      }
    }
    return groups;
  }

  /** Writes every row or throws RetriableException; returns the rows Cassandra refused, with the reason. */
  List<Failure> write(List<Row> rows) {
    List<List<Row>> groups = groups(rows, partitionKey, maxRows);
    Semaphore permits = new Semaphore(maxConcurrent);
    List<CompletableFuture<List<Failure>>> pending = new ArrayList<>(groups.size());
    for (List<Row> group : groups) {
      permits.acquireUninterruptibly();
      CompletableFuture<List<Failure>> written = execute(statement(group))
          .thenApply(done -> List.<Failure>of())
          .exceptionally(error -> List.of(new Failure(null, unwrap(error))));
      written.whenComplete((result, error) -> permits.release());
      pending.add(written.thenCompose(result -> result.isEmpty() ? written : rowByRow(group, result.get(0).error())));
    }
    List<Failure> failures = new ArrayList<>();
    for (CompletableFuture<List<Failure>> group : pending) {
      try {
        failures.addAll(group.join());
      } catch (CompletionException error) {
        throw retriable(unwrap(error));
      }
    }
    return failures;
  }

  private CompletableFuture<List<Failure>> rowByRow(List<Row> group, Throwable batchError) {
    if (isOutage(batchError)) return CompletableFuture.failedFuture(batchError);
    List<CompletableFuture<Failure>> each = new ArrayList<>();
    for (Row row : group) {
      each.add(execute(insert.bind(row.values())).thenApply(done -> (Failure) null)
          .exceptionally(error -> new Failure(row.record(), unwrap(error))));
    }
    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenCompose(all -> {
      List<Failure> failures = new ArrayList<>();
      for (CompletableFuture<Failure> future : each) {
        Failure failure = future.join();
        if (failure == null) continue;
        if (isOutage(failure.error())) return CompletableFuture.failedFuture(failure.error());
        failures.add(failure);
      }
      return CompletableFuture.completedFuture(failures);
    });
  }

  private Statement<?> statement(List<Row> group) {
    if (group.size() == 1) return insert.bind(group.get(0).values());
    BatchStatementBuilder batch = BatchStatement.builder(BatchType.UNLOGGED).setIdempotence(true);
    for (Row row : group) batch.addStatement(insert.bind(row.values()));
    return batch.build();
  }

  private CompletableFuture<?> execute(Statement<?> statement) {
    return session.executeAsync(statement).toCompletableFuture();
  }

  /** Timeouts and unavailable replicas are Cassandra's state, not the record's: try the records again later. */
  static boolean isOutage(Throwable error) {
    // QueryExecutionException covers read/write timeouts and failures, unavailable replicas and the like;
    // what is left (invalid query, bad value, unauthorised) is about the statement, i.e. the record.
    return error instanceof DriverTimeoutException
        || error instanceof AllNodesFailedException
        || error instanceof QueryExecutionException
        || error instanceof OverloadedException
        || error instanceof BootstrappingException;
  }

  private static RetriableException retriable(Throwable error) {
    return new RetriableException("Cassandra did not take the writes; Connect will retry them: " + error.getMessage(), error);
  }

  private static Throwable unwrap(Throwable error) {
    Throwable current = error;
    while (current instanceof CompletionException && current.getCause() != null) current = current.getCause();
    return current;
  }
}
