/* placeholder: replaced by the runtime work (eunomia-agent CLI) */
#include <stdio.h>
int main(void)
{
	fprintf(stderr, "eunomia-agent: not built yet\n");
	return 1;
}
