# A librdkafka producer (Debian's python3-confluent-kafka) for bench/kafka.bench.ts: sends N
# records of 100 B as fast as it can to one partition and prints records/s as JSON. With
# "mock" it produces to librdkafka's built-in in-memory mock cluster instead of a broker.
import json, sys, time
from confluent_kafka import Producer

target, topic, n, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
conf = {'acks': acks, 'linger.ms': 5, 'batch.num.messages': 10000, 'queue.buffering.max.messages': 1000000}
if target == 'mock':
    conf['test.mock.num.brokers'] = 1
else:
    conf['bootstrap.servers'] = target
p = Producer(conf)
payload = b'v' * 100
failed = []
def done(err, msg):
    if err is not None:
        failed.append(str(err))
# warm up: metadata and the first batch
p.produce(topic, payload, partition=0, on_delivery=done)
p.flush(30)
start = time.perf_counter()
for i in range(n):
    while True:
        try:
            p.produce(topic, payload, partition=0, on_delivery=done)
            break
        except BufferError:
            p.poll(0.001)
    if i % 1000 == 0:
        p.poll(0)
left = p.flush(60)
elapsed = time.perf_counter() - start
print(json.dumps({'recordsPerSec': n / elapsed, 'failed': len(failed) + left, 'firstError': failed[0] if failed else None}))
