# servers.mk - the reference servers tcp-upper and udp-upper and the interactive client upper-client.
# serve.c holds what both servers share: the command line, stop signals, the -v log and the life cycle.
# tcp_loop.c is tcp-upper's event loop over an I/O interface; tcp_upper.c binds it to the system calls
# (the fuzz target fuzz_tcp binds it to a simulated kernel: harness/fuzz/targets.txt links it).

PROGS += tcp-upper udp-upper upper-client

SERVERS_SERVE_OBJ := $(O)/servers/serve.o

$(B)/tcp-upper: $(O)/servers/tcp_upper.o $(O)/servers/tcp_loop.o $(SERVERS_SERVE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

# udp_loop.c is udp-upper's batch loop, which the fuzz target fuzz_udp also links (harness/fuzz/targets.txt).
$(B)/udp-upper: $(O)/servers/udp_upper.o $(O)/servers/udp_loop.o $(SERVERS_SERVE_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^ $(LIB_LIBS)

$(B)/upper-client: $(O)/servers/upper_client.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)
