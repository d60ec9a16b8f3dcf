# servers.mk - the reference servers tcp-upper and udp-upper and the interactive client upper-client.
# serve.c holds what both servers share: the command line, stop signals, the -v log and the life cycle.

PROGS += tcp-upper udp-upper upper-client

SERVERS_SERVE_OBJ := $(O)/servers/serve.o

$(B)/tcp-upper: $(O)/servers/tcp_upper.o $(SERVERS_SERVE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

$(B)/udp-upper: $(O)/servers/udp_upper.o $(SERVERS_SERVE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

$(B)/upper-client: $(O)/servers/upper_client.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)
