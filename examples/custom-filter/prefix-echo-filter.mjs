// A custom network filter, loaded by Skiff from the `skiff_module` key of a filter entry.
// It answers every chunk it reads with `prefix` + the chunk (an echo server inside the proxy).
// The default export is the factory: kind, name (= the `type` in config), parseConfig, create.
// See docs/extensions.md for the contract.
const Stop = 1; // FilterStatus.Stop: this filter consumed the data

export default {
  kind: 'network_filter',
  name: 'prefix_echo',
  /** Runs once at config load; throw to reject the config (the message names the path). */
  parseConfig(raw) {
    const prefix = raw?.prefix ?? '';
    if (typeof prefix !== 'string') throw new Error('prefix must be a string');
    return Object.freeze({ prefix: Buffer.from(prefix) });
  },
  /** Runs when the listener is built; the returned creator runs once per connection. */
  create(config, ctx) {
    ctx.logger.info({ prefix: config.prefix.toString() }, 'prefix_echo filter ready');
    return (connection) => {
      connection.addReadFilter({
        onData(data, endStream) {
          if (data.length > 0) connection.write(Buffer.concat([config.prefix, data]));
          if (endStream) connection.endWrite();
          return Stop;
        },
      });
    };
  },
};
