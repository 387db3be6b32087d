// Only the ECharts parts the console draws (tree-shaken: ~1/3 of the full library).
import * as echarts from 'echarts/core'
import { LineChart, BarChart, HeatmapChart, FunnelChart, PieChart } from 'echarts/charts'
import { GridComponent, TooltipComponent, LegendComponent, VisualMapComponent, AriaComponent, TitleComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([LineChart, BarChart, HeatmapChart, FunnelChart, PieChart, GridComponent, TooltipComponent,
  LegendComponent, VisualMapComponent, AriaComponent, TitleComponent, CanvasRenderer])

export { echarts }
export const palette = ['#2f6f9f', '#d9822b', '#3f9c6d', '#b0413e', '#7b5ea7', '#8c8c8c', '#c2a33b']
