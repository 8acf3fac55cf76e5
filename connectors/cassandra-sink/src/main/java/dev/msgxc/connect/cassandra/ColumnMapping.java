package dev.msgxc.connect.cassandra;

import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

/**
 * How a record value becomes a row: each column is a field path of the value (dots for nested
 * records) or a function of one: {@code day(at)} and {@code hour(at)} give the UTC day and hour
 * of a timestamp, so partition keys such as (day, hour) are derived rather than produced.
 */
public final class ColumnMapping {
  /** One column: its name, the path into the record and an optional derivation. */
  public record Column(String name, List<String> path, Derivation derivation) {}

  public enum Derivation {
    NONE,
    DAY,
    HOUR
  }

  /** Why a record is not written: SKIP (it does not belong in this table), or a failure. */
  public static final class SkipRecord extends RuntimeException {
    public SkipRecord(String message) {
      super(message, null, false, false);
    }
  }

  private static final Pattern FUNCTION = Pattern.compile("^(day|hour)\\(([A-Za-z0-9_.]+)\\)$");
  private static final Pattern PATH = Pattern.compile("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$");
  private static final long MILLIS_PER_DAY = 86_400_000L;
  private static final long MILLIS_PER_HOUR = 3_600_000L;

  private final List<Column> columns;
  private final Set<String> skipWhenNull;

  private ColumnMapping(List<Column> columns, Set<String> skipWhenNull) {
    this.columns = List.copyOf(columns);
    this.skipWhenNull = Set.copyOf(skipWhenNull);
  }

  public static ColumnMapping parse(List<String> pairs, List<String> skipWhenNull) {
    List<Column> columns = new ArrayList<>();
    Set<String> names = new LinkedHashSet<>();
    for (String pair : pairs) {
      String[] parts = pair.split("=", 2);
      if (parts.length != 2 || parts[0].isBlank() || parts[1].isBlank()) {
        throw new ConfigException("columns", pair, "expected column=expression");
      }
      String name = parts[0].trim();
      if (!names.add(name)) throw new ConfigException("columns", pair, "column " + name + " is mapped twice");
      columns.add(column(name, parts[1].trim(), pair));
    }
    if (columns.isEmpty()) throw new ConfigException("columns", "", "at least one column is needed");
    for (String name : skipWhenNull) {
      if (!names.contains(name.trim())) {
        throw new ConfigException("skip.when.null", name, "not one of the mapped columns");
      }
    }
    return new ColumnMapping(columns, new LinkedHashSet<>(skipWhenNull.stream().map(String::trim).toList()));
  }

  private static Column column(String name, String expression, String pair) {
    Matcher function = FUNCTION.matcher(expression);
    if (function.matches()) {
      Derivation derivation = function.group(1).equals("day") ? Derivation.DAY : Derivation.HOUR;
      return new Column(name, List.of(function.group(2).split("\\.")), derivation);
    }
    if (!PATH.matcher(expression).matches()) {
      throw new ConfigException("columns", pair, "expected a field path or day(path) / hour(path)");
    }
    return new Column(name, List.of(expression.split("\\.")), Derivation.NONE);
  }

  public List<Column> columns() {
    return columns;
  }

  public List<String> columnNames() {
    return columns.stream().map(Column::name).toList();
  }

  /**
   * The column values of one record value, in column order: day() gives epoch days (long), hour()
   * 0-23; a field the record's schema does not have is null. Throws SkipRecord when a skip-when-null column is null, DataException when the value
   * does not have the shape the mapping expects.
   */
  public Object[] values(Object value) {
    if (!(value instanceof Struct struct)) {
      throw new DataException("record value is " + (value == null ? "null (a tombstone)" : value.getClass().getSimpleName())
          + ", expected a record (Struct)");
    }
    Object[] row = new Object[columns.size()];
    for (int index = 0; index < columns.size(); index++) {
      Column column = columns.get(index);
      Object raw = read(struct, column.path());
      if (raw == null && skipWhenNull.contains(column.name())) {
        throw new SkipRecord(column.name() + " is null");
      }
      row[index] = derive(column, raw);
    }
    return row;
  }

  private static Object read(Struct struct, List<String> path) {
    Object current = struct;
    for (String name : path) {
      if (current == null) return null;
      if (!(current instanceof Struct node)) {
        throw new DataException("field " + String.join(".", path) + ": " + name + " is inside a non-record value");
      }
      Field field = node.schema().field(name);
      // A record written with an older schema version lacks newer fields: they read as null (their default).
      if (field == null) return null;
      current = node.get(field);
    }
    return current;
  }

  private static Object derive(Column column, Object raw) {
    if (column.derivation() == Derivation.NONE || raw == null) return raw;
    long millis = epochMillis(raw, column);
    if (column.derivation() == Derivation.DAY) return Math.floorDiv(millis, MILLIS_PER_DAY);
    return (int) (Math.floorMod(millis, MILLIS_PER_DAY) / MILLIS_PER_HOUR);
  }

  static long epochMillis(Object raw, Column column) {
    if (raw instanceof Date date) return date.getTime();
    if (raw instanceof Number number) return number.longValue();
    throw new DataException("column " + column.name() + ": " + String.join(".", column.path())
        + " is " + raw.getClass().getSimpleName() + ", expected a timestamp");
  }
}
