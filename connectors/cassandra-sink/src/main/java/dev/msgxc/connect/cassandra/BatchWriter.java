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
 * one replica set), up to maxConcurrent at once, while the task goes on consuming. A batch Cassandra refuses for the data in it is retried row by
 * row so only the rows that cannot be written are reported; an outage (timeouts, no node) is
 * retriable: Connect hands the same records to put() again and the upserts make that harmless.
 */
final class BatchWriter {
  record Row(SinkRecord record, Object[] values) {}

  record Failure(SinkRecord record, Throwable error) {}

  private final CqlSession session;
  private final PreparedStatement insert;
  private final int[] partitionKey;
  private final int maxRows;
  private final Semaphore permits;
  /** Touched only by the task's thread; the driver's threads complete the futures. */
  private final List<CompletableFuture<List<Failure>>> inFlight = new ArrayList<>();

  BatchWriter(CqlSession session, PreparedStatement insert, int[] partitionKey, int maxConcurrent, int maxRows) {
    this.session = session;
    this.insert = insert;
    this.partitionKey = partitionKey;
    this.maxRows = maxRows;
    this.permits = new Semaphore(maxConcurrent);
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

  /**
   * Starts writing the rows and returns at once, unless maxConcurrent batches are in flight already
   * (then it waits for a slot: back-pressure on the consumer). {@link #awaitAll} ends the write.
   */
  void submit(List<Row> rows) {
    // Clean completions need no more attention; failures wait for awaitAll.
    inFlight.removeIf(batch -> batch.isDone() && !batch.isCompletedExceptionally() && batch.join().isEmpty());
    for (List<Row> group : groups(rows, partitionKey, maxRows)) {
      try {
        permits.acquire();
      } catch (InterruptedException interrupted) {
        Thread.currentThread().interrupt();
        throw new RetriableException("interrupted while waiting to write", interrupted);
      }
      CompletableFuture<List<Failure>> batch = execute(statement(group))
          .handle((done, error) -> error == null ? null : unwrap(error))
          .thenCompose(error -> error == null ? CompletableFuture.completedFuture(List.<Failure>of()) : rowByRow(group, error));
      batch.whenComplete((result, error) -> permits.release());
      inFlight.add(batch);
    }
  }

  /**
   * Waits for every write submitted so far. Returns the rows Cassandra refused, with the reason;
   * throws RetriableException when Cassandra could not be reached or timed out, so Connect rewinds to
   * the last committed offsets and hands those records over again.
   */
  List<Failure> awaitAll() {
    List<Failure> failures = new ArrayList<>();
    Throwable outage = null;
    for (CompletableFuture<List<Failure>> batch : inFlight) {
      try {
        failures.addAll(batch.join());
      } catch (CompletionException | java.util.concurrent.CancellationException error) {
        outage = outage == null ? unwrap(error) : outage;
      }
    }
    inFlight.clear();
    if (outage != null) throw retriable(outage);
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
