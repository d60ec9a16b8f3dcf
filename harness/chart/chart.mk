# harness/chart/chart.mk - draw-chart, lib/chart as a command for the orchestration scripts (make fuzz,
# make bench, make bench-fuzz), so that every chart is drawn by the one module.

$(B)/draw-chart: $(O)/harness/chart/draw_chart.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIB_LIBS)

all: $(B)/draw-chart
