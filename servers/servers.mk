# servers.mk - the reference servers and the interactive client (issue 2).

PROGS += tcp-upper udp-upper upper-client

SERVERS_LOOP_OBJ := $(O)/servers/loop.o

$(B)/tcp-upper: $(O)/servers/tcp-upper.o $(SERVERS_LOOP_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^

$(B)/udp-upper: $(O)/servers/udp-upper.o $(SERVERS_LOOP_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -pthread -o $@ $^

$(B)/upper-client: $(O)/servers/upper-client.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^
