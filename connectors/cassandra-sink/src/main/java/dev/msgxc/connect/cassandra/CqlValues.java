package dev.msgxc.connect.cassandra;

import com.datastax.oss.driver.api.core.type.DataType;
import com.datastax.oss.driver.api.core.type.DataTypes;
import com.datastax.oss.driver.api.core.type.ListType;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.apache.kafka.connect.errors.DataException;

/** Converts a Connect value (as the converter decoded it) to the Java type the driver binds for a CQL column. */
public final class CqlValues {
  private CqlValues() {}

  public static Object convert(String column, DataType type, Object value) {
    if (value == null) return null;
    try {
      if (type.equals(DataTypes.TEXT)) return value.toString();
      if (type.equals(DataTypes.INT)) return ((Number) value).intValue();
      if (type.equals(DataTypes.BIGINT)) return ((Number) value).longValue();
      if (type.equals(DataTypes.DOUBLE)) return ((Number) value).doubleValue();
      if (type.equals(DataTypes.BOOLEAN)) return (Boolean) value;
      if (type.equals(DataTypes.TIMESTAMP)) return instant(value);
      if (type.equals(DataTypes.DATE)) return date(value);
      if (type.equals(DataTypes.BLOB)) return value instanceof byte[] bytes ? ByteBuffer.wrap(bytes) : (ByteBuffer) value;
      if (type instanceof ListType list && value instanceof List<?> items) {
        List<Object> converted = new ArrayList<>(items.size());
        for (Object item : items) converted.add(convert(column, list.getElementType(), item));
        return converted;
      }
    } catch (ClassCastException error) {
      throw new DataException("column " + column + " (" + type.asCql(false, true) + ") cannot hold a "
          + value.getClass().getSimpleName() + " value", error);
    }
    throw new DataException("column " + column + ": CQL type " + type.asCql(false, true) + " is not supported by the sink");
  }

  private static Instant instant(Object value) {
    if (value instanceof Date date) return date.toInstant();
    if (value instanceof Instant instant) return instant;
    return Instant.ofEpochMilli(((Number) value).longValue());
  }

  private static LocalDate date(Object value) {
    if (value instanceof LocalDate date) return date;
    if (value instanceof Date date) return LocalDate.ofEpochDay(Math.floorDiv(date.getTime(), 86_400_000L));
    return LocalDate.ofEpochDay(((Number) value).longValue());
  }
}
