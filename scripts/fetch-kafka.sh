#!/usr/bin/env bash
# Fetch the pinned Apache Kafka broker jars that the integration tests run (tests/support/).
#
# There is no Kafka distribution tarball on the registries we can reach, but Maven Central has
# every jar the broker needs: `kafka_2.13` plus its runtime closure. We resolve that closure with
# a tiny POM written here and maven-dependency-plugin's copy-dependencies into one flat directory,
# which `java -cp 'libs/*' kafka.Kafka` runs as is.
#
# - The plugin version is named (3.8.1): a bare `dependency:` prefix resolves 2.8 on Maven 3.8.
# - log4j-slf4j-impl is added on purpose: without an SLF4J binding the broker logs nothing, and
#   a silent broker makes failing tests impossible to diagnose.
# - Idempotent: exits at once when the completion marker exists. The marker is written last,
#   after an atomic rename of the finished directory, so an interrupted fetch is redone.
# - Concurrent runs (pytest-xdist workers, two shells) serialise on a flock.
#
# Layout (all git-ignored): .cache/kafka/<v>/{pom.xml,libs/,libs.complete}, Maven repo .cache/m2/.
# Prints the libs directory on stdout; progress goes to stderr.
# Environment: DW_KAFKA_VERSION (default 4.3.1; 4.4.0 also known to work).
set -euo pipefail

KAFKA_VERSION=${DW_KAFKA_VERSION:-4.3.1}
case "$KAFKA_VERSION" in
  4.3.1) LOG4J_VERSION=2.25.4 ;; # = log4j-core in kafka-server's POM
  4.4.0) LOG4J_VERSION=2.25.5 ;;
  *)
    echo "fetch-kafka.sh: no log4j pin known for Kafka $KAFKA_VERSION; add one to this script" >&2
    exit 1
    ;;
esac
SLF4J_VERSION=1.7.36 # declared by kafka_2.13 4.3.1 and 4.4.0
PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/.cache/kafka/$KAFKA_VERSION"
libs="$dir/libs"
marker="$dir/libs.complete"

if [ -f "$marker" ]; then
  echo "$libs"
  exit 0
fi

for tool in java mvn; do
  if ! command -v "$tool" > /dev/null 2>&1; then
    echo "fetch-kafka.sh: '$tool' not found on PATH; install a JDK 17+ and Maven" \
      "(Debian: apt-get install openjdk-17-jdk-headless maven), then rerun" >&2
    exit 1
  fi
done

mkdir -p "$dir"
exec 9> "$dir/.lock"
flock 9
# Another run may have finished while we waited for the lock.
if [ -f "$marker" ]; then
  echo "$libs"
  exit 0
fi

cat > "$dir/pom.xml" << EOF
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.driftwarden.testbroker</groupId>
  <artifactId>kafka-classpath</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>$SLF4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF

rm -rf "$dir/libs.tmp" "$libs"
echo "fetch-kafka.sh: resolving kafka_2.13:$KAFKA_VERSION from Maven Central (cold: ~20-40 s)" >&2
# Absolute paths: a relative -DoutputDirectory resolves against the POM's directory, a relative
# -Dmaven.repo.local against the current one.
mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" -Dmaven.repo.local="$root/.cache/m2" \
  "$PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$dir/libs.tmp" >&2

if ! compgen -G "$dir/libs.tmp/kafka_2.13-$KAFKA_VERSION.jar" > /dev/null; then
  echo "fetch-kafka.sh: kafka_2.13-$KAFKA_VERSION.jar missing after the copy; see Maven's output" >&2
  exit 1
fi
mv "$dir/libs.tmp" "$libs"
touch "$marker"
echo "fetch-kafka.sh: $(find "$libs" -name '*.jar' | wc -l) jars in $libs" >&2
echo "$libs"
